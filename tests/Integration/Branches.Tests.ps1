# Branches through the real daxfs module: New-DaxFsBranch, Complete-DaxFsBranch, Undo-DaxFsBranch, unmount, sibling
# invalidation, ENOSPC, and Get-DaxFsItem -Branch over a copy of the memory against the live mounts. The scenarios of the
# reference's tests/test_branch.sh (main read-only, child writable, isolation, nesting, abort by unmount, mkdir, unlink,
# rmdir, symlink, rename, truncate, commit, sibling invalidation) are cases here too.
# It writes to /dev/pmem0, so it runs only inside the VM of ../shared/vm: in the suite's raw boot (Invoke-Integration.ps1,
# which gives it the first 24 MiB of the NVDIMM), or alone:
#   /work/shared/vm/run-vm.sh --timeout 1800 --memory-size 256M -- dotnet pwsh -NoProfile -File tests/Integration/Branches.Tests.ps1
# (the file starts Pester on itself when run directly).
if (-not (Get-Module Pester) -and -not $env:DAXFS_BRANCHES_UNDER_PESTER) {
    # Run directly: start Pester on this file (which then runs it again, with the variable set) and exit with the
    # number of failures.
    $env:DAXFS_BRANCHES_UNDER_PESTER = '1'
    $cache = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path $HOME '.nuget/packages' }
    $pester = Get-ChildItem (Join-Path $cache 'pester') -Filter Pester.psd1 -Recurse | Where-Object { $_.Directory.Name -eq 'tools' } |
        Sort-Object { [version]$_.Directory.Parent.Name } | Select-Object -Last 1
    Import-Module $pester.FullName
    $c = New-PesterConfiguration
    $c.Run.Path = $PSCommandPath
    $c.Run.PassThru = $true
    $c.Output.Verbosity = 'Detailed'
    $c.TestResult.Enabled = $true
    $c.TestResult.OutputPath = Join-Path $PSScriptRoot '../../out/TestResults/Integration.Branches.xml'
    $r = Invoke-Pester -Configuration $c
    exit $r.FailedCount
}

BeforeDiscovery {
    $script:InVm = $env:DAXFS_VM -eq '1'
}

Describe 'Branches through the daxfs kernel module' -Skip:(-not $InVm) {
    BeforeAll {
        Set-StrictMode -Version Latest
        $ProgressPreference = 'SilentlyContinue'
        if (-not $env:DAXFS_MODULE_PATH) { $env:DAXFS_MODULE_PATH = Join-Path $PSScriptRoot '../../out/DaxFs/DaxFs.psd1' }
        Import-Module $env:DAXFS_MODULE_PATH -Force
        # Under the suite (Invoke-Integration.ps1) the NVDIMM holds the other files' images too: this file has its own
        # area (BranchOffset in the manifest; the start of /dev/pmem0). Run alone, the NVDIMM is all its own.
        $manifest = if ($env:DAXFS_INTEGRATION_DATA) { Join-Path $env:DAXFS_INTEGRATION_DATA 'manifest.json' }
        $script:Offset = if ($manifest -and (Test-Path $manifest)) { [uint64](Get-Content -Raw $manifest | ConvertFrom-Json).BranchOffset } else { [uint64]0 }
        $script:Phys = [uint64]$env:DAXFS_VM_PHYS + $Offset
        $script:Work = '/tmp/daxfs-branches'
        $script:Runbook = Join-Path $PSScriptRoot '../../docs/runbooks/Invoke-DaxFsBranchTrial.ps1'
        Remove-Item -Recurse -Force $Work -ErrorAction Ignore
        $src = New-Item -ItemType Directory -Force "$Work/src"
        Push-Location $Work   # nothing the guest writes by mistake lands in the checkout
        Set-Content -NoNewline -LiteralPath "$src/hello.txt" -Value 'Hello from base image'
        Set-Content -NoNewline -LiteralPath "$src/modify_me.txt" -Value 'Original content'
        New-Item -ItemType Directory "$src/subdir", "$src/keepdir" | Out-Null
        Set-Content -NoNewline -LiteralPath "$src/subdir/nested.txt" -Value 'File in subdir'
        Set-Content -NoNewline -LiteralPath "$src/keepdir/owned.txt" -Value 'chown me'
        [IO.File]::WriteAllBytes("$src/big.bin", [byte[]](0..9999 | ForEach-Object { $_ % 251 }))
        $script:Image = New-DaxFsImage $src "$Work/branching.daxfs" -Branching -DeltaSize 20MB -Owner Root
        Write-DaxFsImage $Image -PhysicalAddress $Phys -Size $Image.TotalSize -Confirm:$false | Out-Null

        function script:New-Dir([string] $Name) { (New-Item -ItemType Directory -Force "$Work/mnt/$Name").FullName }
        # Mounts the image's main branch (read-only) at a new folder.
        function script:Mount-Main([string] $Name, $Size = $Image.TotalSize) {
            Mount-DaxFs -PhysicalAddress $Phys -Size $Size -MountPoint (New-Dir $Name) -Confirm:$false
        }
        # errno of a failed shell operation: runs sh and returns its stderr.
        function script:Invoke-Sh([string] $Command) {
            $out = & sh -c "$Command" 2>&1 | ForEach-Object { "$_" }
            [pscustomobject]@{ ExitCode = $LASTEXITCODE; Output = ($out -join "`n") }
        }
        # File operations in the mounts go through .NET's file APIs (plain open/read/write/stat/... system calls): a
        # process per operation (sh, cat) costs seconds under emulation. A failure comes back as its message, which
        # holds the errno's text (No such file or directory, Stale file handle, Read-only file system).
        function script:Read-Guest([string] $Path) { try { [IO.File]::ReadAllText($Path) } catch { "read failed: $_" } }
        function script:Write-Guest([string] $Path, [string] $Text) { [IO.File]::WriteAllText($Path, $Text) }
        function script:Test-Guest([string] $Path, [switch] $Directory) { [IO.Directory]::Exists($Path) -or (-not $Directory -and [IO.File]::Exists($Path)) }
        function script:Get-GuestEntries([string] $Path) { try { [IO.Directory]::GetFileSystemEntries($Path) -join "`n" } catch { "list failed: $_" } }
        # A copy of the memory: TotalSize bytes of /dev/pmem0 (the raw namespace) from the image's offset, read with O_DIRECT
        # (the block device's page cache does not see what the kernel writes into the memory).
        function script:Save-Memory([string] $Name) {
            $path = "$Work/$Name.daxfs"
            $r = Invoke-Sh "dd if=/dev/pmem0 of='$path' bs=4096 skip=$($Offset / 4096) count=$($Image.TotalSize / 4096) iflag=direct 2>&1"
            if ($r.ExitCode -ne 0) { throw "dd failed: $($r.Output)" }
            $path
        }
        # path type mode size uid:gid target of every entry under a directory, as the guest sees it (type U: mode 0).
        function script:Get-GuestListing([string] $Root) {
            # find's complaints about names readdir lists but lookup cannot find (removed or renamed in a branch) are dropped:
            # the replay leaves those names out too (with a warning).
            $lines = Invoke-Sh "cd '$Root' && find . -mindepth 1 -printf '%p %y %m %s %U:%G %l\n' 2>/dev/null | sort"
            $lines.Output -split "`n" | Where-Object { $_ } | ForEach-Object {
                $f = $_ -split ' '
                # Directory sizes and modes come from the live mount's inode cache: compare what a fresh view shows too.
                if ($f[1] -eq 'd') { '{0} d' -f $f[0].Substring(1) } else { '{0} {1} {2} {3} {4} {5}' -f $f[0].Substring(1), $f[1], $f[2], $f[3], $f[4], $f[5] }
            }
        }
        function script:Get-ReplayListing([object] $Image, [string] $Branch) {
            Get-DaxFsItem $Image -Branch $Branch -Recurse -WarningAction SilentlyContinue | Sort-Object { $_.FullName } -Culture ([cultureinfo]::InvariantCulture) |
                Where-Object FullName -ne '/' | ForEach-Object {
                    $t = switch ($_.Type) { 'Directory' { 'd' } 'File' { 'f' } 'SymbolicLink' { 'l' } default { 'U' } }
                    if ($t -eq 'd') { '{0} d' -f $_.FullName }
                    else { '{0} {1} {2} {3} {4}:{5} {6}' -f $_.FullName, $t, [Convert]::ToString($_.Permissions, 8), $_.Size, $_.Uid, $_.Gid, "$($_.Target)" }
                }
        }
        # "sha256 ./path" of the bytes cat reads from every file a fresh mount can open, in one sha256sum process (a process
        # per file costs a second under emulation). find -type f takes the type from readdir, so names that cannot be
        # opened (removed or renamed in the branch, or an inode of mode 0) come too: sha256sum skips them. Against
        # Get-DaxFsContent of the -Type File items of the replay from the live memory (one pipeline: the memory is opened
        # and the branch replayed once; one byte[] per file, in the items' order).
        function script:Get-GuestContent([string] $Root) {
            (Invoke-Sh "cd '$Root' && find . -type f -print0 2>/dev/null | xargs -0 -r sha256sum 2>/dev/null; true").Output -split "`n" |
                Where-Object { $_ } | ForEach-Object { $_ -replace '^([0-9a-f]{64})  ', '$1 ' }
        }
        function script:Get-ReplayContent([string] $Branch) {
            $items = @(Get-DaxFsItem $Main -Branch $Branch -Recurse -Type File -WarningAction SilentlyContinue)
            $hashes = @($items | Get-DaxFsContent -AsByteStream | ForEach-Object { [Convert]::ToHexString([Security.Cryptography.SHA256]::HashData([byte[]]$_)).ToLowerInvariant() })
            $hashes.Count | Should -Be $items.Count
            for ($k = 0; $k -lt $items.Count; $k++) { "$($hashes[$k]) ./$($items[$k].FullName.TrimStart('/'))" }
        }
        function script:Get-WhatIf([scriptblock] $Script) {
            $t = "$Work/whatif-$([guid]::NewGuid().ToString('n')).txt"
            Start-Transcript -Path $t -UseMinimalHeader | Out-Null
            try { & $Script } finally { Stop-Transcript | Out-Null }
            (Get-Content -Raw $t) -replace "`r", ''
        }
        $script:Main = Mount-Main 'main'
    }

    AfterAll {
        Pop-Location
        if (Test-Path "$Work/mnt") {
            # Children first: deeper branch paths unmount before their parents.
            Get-DaxFsMount | Where-Object MountPoint -like "$Work/mnt/*" | Sort-Object { ($_.Branch -split '/').Count } -Descending | ForEach-Object { Dismount-DaxFs $_.MountPoint -Confirm:$false -ErrorAction SilentlyContinue }
        }
    }

    Context 'the scenarios of test_branch.sh' {
        It 'keeps main read-only' {
            $Main.Branch | Should -Be '/main'
            $Main.ReadOnly | Should -BeTrue
            (Read-Guest "$($Main.MountPoint)/hello.txt") | Should -Be 'Hello from base image'
            { Write-Guest "$($Main.MountPoint)/newfile.txt" 'test' } | Should -Throw '*Read-only file system*'
            { Write-Guest "$($Main.MountPoint)/hello.txt" 'modified' } | Should -Throw '*Read-only file system*'
        }

        It 'creates a writable child of main with New-DaxFsBranch (phys= from the parent mount)' {
            $script:B1 = New-DaxFsBranch -Name branch1 -Parent $Main -MountPoint (New-Dir 'branch1') -Confirm:$false
            $B1 | Should -BeOfType DaxFs.DaxFsMount
            $B1.Branch | Should -Be '/main/branch1'
            $B1.ReadOnly | Should -BeFalse
            $B1.PhysicalAddress | Should -Be $Main.PhysicalAddress
            $B1.Size | Should -Be $Image.TotalSize
            (Read-Guest "$($B1.MountPoint)/hello.txt") | Should -Be 'Hello from base image'
            Write-Guest "$($B1.MountPoint)/branch_file.txt" 'New file in branch'
            Write-Guest "$($B1.MountPoint)/modify_me.txt" 'Modified in branch'
            (Read-Guest "$($B1.MountPoint)/branch_file.txt") | Should -Be 'New file in branch'
            (Read-Guest "$($B1.MountPoint)/modify_me.txt") | Should -Be 'Modified in branch'
        }

        It 'isolates sibling branches' {
            $script:B2 = New-DaxFsBranch branch2 $Main.MountPoint (New-Dir 'branch2') -Confirm:$false
            $B2.Branch | Should -Be '/main/branch2'
            (Read-Guest "$($B2.MountPoint)/modify_me.txt") | Should -Be 'Original content'
            Test-Guest "$($B2.MountPoint)/branch_file.txt" | Should -BeFalse
            Write-Guest "$($B2.MountPoint)/modify_me.txt" 'Branch2 content'
            Write-Guest "$($B2.MountPoint)/branch2_file.txt" 'Branch2 file'
            (Read-Guest "$($B1.MountPoint)/modify_me.txt") | Should -Be 'Modified in branch'
            Test-Guest "$($B1.MountPoint)/branch2_file.txt" | Should -BeFalse
        }

        It 'nests a branch under a child (parent from the pipeline)' {
            $script:Nested = $B1 | New-DaxFsBranch -Name nested -MountPoint (New-Dir 'nested') -Confirm:$false
            $Nested.Branch | Should -Be '/main/branch1/nested'
            (Read-Guest "$($Nested.MountPoint)/modify_me.txt") | Should -Be 'Modified in branch'
            (Read-Guest "$($Nested.MountPoint)/branch_file.txt") | Should -Be 'New file in branch'
            Write-Guest "$($Nested.MountPoint)/nested_file.txt" 'Nested content'
            Write-Guest "$($Nested.MountPoint)/modify_me.txt" 'Nested modified'
            (Read-Guest "$($B1.MountPoint)/modify_me.txt") | Should -Be 'Modified in branch'
            Test-Guest "$($B1.MountPoint)/nested_file.txt" | Should -BeFalse
        }

        It 'discards a branch on unmount (abort of that branch only)' {
            Dismount-DaxFs $Nested.MountPoint -Confirm:$false
            $again = New-DaxFsBranch nested2 -Parent $B1 -MountPoint $Nested.MountPoint -Confirm:$false
            Test-Guest "$($again.MountPoint)/nested_file.txt" | Should -BeFalse
            (Read-Guest "$($again.MountPoint)/modify_me.txt") | Should -Be 'Modified in branch'
            $table = Get-DaxFsBranch (Save-Memory 'after-unmount')
            ($table | Where-Object Name -eq 'branch1').State | Should -Be 'Active'
            ($table | Where-Object Name -eq 'nested2').State | Should -Be 'Active'
            $table.Name | Should -Not -Contain 'nested'   # an aborted record's name is cleared
            Dismount-DaxFs $again.MountPoint -Confirm:$false
        }

        It 'makes directories, unlinks, removes directories, symlinks, renames and truncates in a branch' {
            $m = $B1.MountPoint
            [IO.Directory]::CreateDirectory("$m/newdir") | Out-Null
            Write-Guest "$m/newdir/file.txt" 'file in new dir'
            Test-Guest "$m/newdir" -Directory | Should -BeTrue
            (Read-Guest "$m/newdir/file.txt") | Should -Be 'file in new dir'
            [IO.File]::Delete("$m/subdir/nested.txt")
            Test-Guest "$m/subdir/nested.txt" | Should -BeFalse
            Test-Guest "$($Main.MountPoint)/subdir/nested.txt" | Should -BeTrue
            [IO.Directory]::Delete("$m/subdir")
            Test-Guest "$($Main.MountPoint)/subdir" -Directory | Should -BeTrue
            [IO.File]::CreateSymbolicLink("$m/link_to_hello", 'hello.txt') | Out-Null
            [IO.FileInfo]::new("$m/link_to_hello").LinkTarget | Should -Be 'hello.txt'
            (Read-Guest "$m/link_to_hello") | Should -Be 'Hello from base image'
            [IO.File]::Move("$m/branch_file.txt", "$m/renamed_file.txt", $true)   # overwrite: rename(2), which succeeds; the kernel does not show it (about_DaxFs)
            $fs = [IO.File]::Open("$m/hello.txt", 'Open', 'ReadWrite'); try { $fs.SetLength(5) } finally { $fs.Dispose() }
            [IO.FileInfo]::new("$m/hello.txt").Length | Should -Be 5
            (Read-Guest "$($Main.MountPoint)/hello.txt") | Should -Be 'Hello from base image'
            # chown(2), a write into the middle of a file and an append (O_APPEND) have no plain .NET call: one sh for the three.
            [IO.File]::SetUnixFileMode("$m/modify_me.txt", [IO.UnixFileMode]'UserRead, UserWrite')
            (Invoke-Sh "chown 1000:1000 '$m/keepdir/owned.txt' && printf 'ZZ' | dd of='$m/big.bin' bs=1 seek=5000 conv=notrunc 2>/dev/null && echo tail >> '$m/newdir/file.txt'").ExitCode | Should -Be 0
        }

        It 'shows through Get-DaxFsItem -Branch, over a copy of the memory and over the live memory, what the kernel shows (branches still active)' {
            $copy = Save-Memory 'live'
            foreach ($b in @(@{ Name = 'branch1'; Mount = $B1.MountPoint }, @{ Name = 'branch2'; Mount = $B2.MountPoint }, @{ Name = 'main'; Mount = $Main.MountPoint })) {
                # A fresh mount of the branch (mounted now, while the branch is active): the kernel builds its view from the
                # logs, as Get-DaxFsItem -Branch does. The mount that made the changes keeps some of them in its inode cache
                # (sizes after a write into the middle or an append, see about_DaxFs), so it is compared without sizes.
                $view = New-Dir "view-$($b.Name)"
                $opt = if ($b.Name -eq 'main') { '' } else { ",branch=$($b.Name)" }
                (Invoke-Sh "mount -t daxfs -o phys=$('0x{0:x}' -f $Phys),size=$($Image.TotalSize)$opt none '$view'").ExitCode | Should -Be 0
                try {
                    $guest = @(Get-GuestListing $view)
                    $guest.Count | Should -BeGreaterThan 5
                    $sources = @(@{ What = 'a copy of the memory'; Image = $copy }, @{ What = 'the live memory (through the main mount)'; Image = $Main })
                    # The image sits at the start of the raw namespace (the suite's layout and a run of this file alone): the node too.
                    if ($Offset -eq 0) { $sources += @{ What = 'the live memory (through /dev/pmem0)'; Image = '/dev/pmem0' } }
                    foreach ($source in $sources) {
                        $replay = @(Get-ReplayListing $source.Image $b.Name)
                        $diff = Compare-Object $guest $replay -CaseSensitive | ForEach-Object { "$($_.SideIndicator) $($_.InputObject)" }
                        $diff | Should -BeNullOrEmpty -Because "branch $($b.Name): a fresh mount (<=) and the replay of $($source.What) (=>) differ"
                    }
                    $noSize = { $_ -replace '^(\S+ [fl] \d+) \d+', '$1' }
                    $diff = Compare-Object @(Get-GuestListing $b.Mount | ForEach-Object $noSize) @($replay | ForEach-Object $noSize) -CaseSensitive | ForEach-Object { "$($_.SideIndicator) $($_.InputObject)" }
                    $diff | Should -BeNullOrEmpty -Because "branch $($b.Name): the mount that made the changes (<=) and the replay (=>) differ in more than sizes"
                    # Every file's bytes: what the kernel reads against Get-DaxFsContent from the live memory.
                    $diff = Compare-Object @(Get-GuestContent $view) @(Get-ReplayContent $b.Name) -CaseSensitive | ForEach-Object { "$($_.SideIndicator) $($_.InputObject)" }
                    $diff | Should -BeNullOrEmpty -Because "branch $($b.Name): file bytes read by the kernel (<=) and by Get-DaxFsContent from the live memory (=>) differ"
                }
                finally { Dismount-DaxFs $view -Confirm:$false }
            }
            # The symbolic link's content through the link, as cat reads it.
            (Get-DaxFsContent $copy /link_to_hello -Branch branch1 -Raw) | Should -Be (Read-Guest "$($B1.MountPoint)/link_to_hello")
        }

        It 'says under -WhatIf what a commit merges and which mounted sibling it invalidates, and changes nothing' {
            $text = Get-WhatIf { Complete-DaxFsBranch $B1.MountPoint -WhatIf }
            $text | Should -Match "Merge 'branch1' into main"
            $text | Should -Match ([regex]::Escape("'branch2' (/main/branch2, mounted at '$($B2.MountPoint)')"))
            $text | Should -Match 'remount,commit'
            (Get-DaxFsMount $B1.MountPoint).Branch | Should -Be '/main/branch1'
            (Read-Guest "$($B2.MountPoint)/modify_me.txt") | Should -Be 'Branch2 content'
        }

        It 'commits: the chain merges into main, the mount shows main, a fresh main sees it, an old main does not' {
            $script:Sibling = $B2
            Write-Guest "$($B1.MountPoint)/committed_file.txt" 'Committed content'
            Test-Guest "$($Main.MountPoint)/committed_file.txt" | Should -BeFalse
            $after = Complete-DaxFsBranch $B1 -Confirm:$false -PassThru
            $after.Branch | Should -Be '/main'
            Test-Guest "$($Main.MountPoint)/committed_file.txt" | Should -BeFalse    # mounted before the commit
            $fresh = Mount-Main 'fresh-main'
            (Read-Guest "$($fresh.MountPoint)/committed_file.txt") | Should -Be 'Committed content'
            (Read-Guest "$($fresh.MountPoint)/modify_me.txt") | Should -Be 'Modified in branch'
            Dismount-DaxFs $fresh.MountPoint -Confirm:$false
            $table = Get-DaxFsBranch (Save-Memory 'after-commit')
            ($table | Where-Object Name -eq 'branch2').State | Should -Be 'Aborted'
            @($table | Where-Object State -eq 'Committed').Count | Should -BeGreaterOrEqual 1
        }

        It 'invalidates the sibling: its file operations answer ESTALE' {
            Read-Guest "$($Sibling.MountPoint)/branch2_file.txt" | Should -Match 'read failed: .*Stale file handle'
            Get-GuestEntries $Sibling.MountPoint | Should -Match 'list failed: .*Stale file handle'
            { Complete-DaxFsBranch $Sibling -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'BranchNotActive,DaxFs.Commands.CompleteDaxFsBranchCommand'
            { New-DaxFsBranch child -Parent $Sibling -MountPoint (New-Dir 'child-of-stale') -WhatIf -ErrorAction Stop } | Should -Throw -ErrorId 'ParentBranchNotActive,DaxFs.Commands.NewDaxFsBranchCommand'
            # The invalidated sibling keeps its name in the table (the kernel answers EEXIST for it).
            { New-DaxFsBranch branch2 -Parent $Main -MountPoint (New-Dir 'reuse') -WhatIf -ErrorAction Stop } | Should -Throw -ErrorId 'BranchNameInUse,DaxFs.Commands.NewDaxFsBranchCommand'
            Dismount-DaxFs $Sibling.MountPoint -Confirm:$false
        }
    }

    Context 'commit and abort of nested chains' {
        It 'commits a nested branch: the whole chain merges, siblings at every level go stale, a nephew does not' {
            $a = New-DaxFsBranch a $Main (New-Dir 'a') -Confirm:$false
            $b = New-DaxFsBranch b $a (New-Dir 'b') -Confirm:$false
            $s = New-DaxFsBranch s $Main (New-Dir 's') -Confirm:$false
            $t = New-DaxFsBranch t $a (New-Dir 't') -Confirm:$false
            $c = New-DaxFsBranch c $s (New-Dir 'c') -Confirm:$false
            Write-Guest "$($b.MountPoint)/from_b.txt" 'b'
            $text = Get-WhatIf { Complete-DaxFsBranch $b -WhatIf }
            $text | Should -Match "Merge 'b' with its parent chain 'a' into main"
            $text | Should -Match ([regex]::Escape("'s' (/main/s, mounted at '$($s.MountPoint)')"))
            $text | Should -Match ([regex]::Escape("'t' (/main/a/t, mounted at '$($t.MountPoint)')"))
            $text | Should -Match ([regex]::Escape("Mounts of merged branches go stale (ESTALE): '$($a.MountPoint)'"))
            $text | Should -Not -Match "'c' \("
            ($b | Complete-DaxFsBranch -Confirm:$false -PassThru).Branch | Should -Be '/main'
            foreach ($m in $a, $s, $t) { Get-GuestEntries $m.MountPoint | Should -Match 'Stale file handle' -Because "$($m.Branch) is invalidated" }
            Get-GuestEntries $c.MountPoint | Should -Not -Match 'list failed' -Because 'a child of an invalidated sibling is not invalidated itself'
            $fresh = Mount-Main 'fresh-main2'
            (Read-Guest "$($fresh.MountPoint)/from_b.txt") | Should -Be 'b'
            foreach ($m in $c, $t, $s, $a, $fresh) { Dismount-DaxFs $m.MountPoint -Confirm:$false }
        }

        It 'aborts a nested branch: the chain back to main is discarded, siblings stay' {
            $x = New-DaxFsBranch x $Main (New-Dir 'x') -Confirm:$false
            $y = New-DaxFsBranch y $x (New-Dir 'y') -Confirm:$false
            $z = New-DaxFsBranch z $Main (New-Dir 'z') -Confirm:$false
            Write-Guest "$($y.MountPoint)/fy" 'y'
            Write-Guest "$($z.MountPoint)/fz" 'z'
            $text = Get-WhatIf { Undo-DaxFsBranch $y.MountPoint -WhatIf }
            $text | Should -Match "Discard 'y' with its parent chain 'x' back to main"
            $text | Should -Match ([regex]::Escape("Mounts of discarded branches go stale (ESTALE): '$($x.MountPoint)'"))
            (Undo-DaxFsBranch $y -Confirm:$false -PassThru).Branch | Should -Be '/main'
            Test-Guest "$($y.MountPoint)/fy" | Should -BeFalse
            Get-GuestEntries $x.MountPoint | Should -Match 'Stale file handle'
            (Read-Guest "$($z.MountPoint)/fz") | Should -Be 'z'
            $table = Get-DaxFsBranch (Save-Memory 'after-abort')
            ($table | Where-Object Name -eq 'z').State | Should -Be 'Active'
            $table.Name | Should -Not -Contain 'y'
            { Undo-DaxFsBranch $y -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'MainBranchCannotEnd,DaxFs.Commands.UndoDaxFsBranchCommand'
            foreach ($m in $z, $x, $y) { Dismount-DaxFs $m.MountPoint -Confirm:$false }
        }

        It 'refuses to commit main before calling the kernel' {
            { Complete-DaxFsBranch $Main -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'MainBranchCannotEnd,DaxFs.Commands.CompleteDaxFsBranchCommand'
        }
    }

    Context 'each kind of change in the branch that made the file, in its child and in its grandchild' {
        It 'shows in a fresh mount of each branch what Get-DaxFsItem -Branch and Get-DaxFsContent show' {
            # k1 (a child of main, whose log holds branch1's commit) makes one file, directory or symlink per kind of change
            # and per branch; each kind of change is then made once in k1 (name_k1), once in its child k2 (name_k2) and once
            # in its grandchild k3 (name_k3). The kernel's entry for an inode in a branch that did not make it takes mode and
            # owner from the base image only (a file made by a parent shows mode 0 there, and a SETATTR without a size gives
            # size 0); the base files below were changed by main's committed log first, so the same rule drops main's changes.
            $k1 = New-DaxFsBranch k1 $Main (New-Dir 'k1') -Confirm:$false
            $kinds = 'trunc', 'trunc5', 'chmod', 'chown', 'write', 'append', 'unlink', 'rename'
            $make = foreach ($l in 'k1', 'k2', 'k3') {
                foreach ($k in $kinds) { "printf 'hello world $l\n' > ${k}_$l" }
                "mkdir dir_$l rmdir_$l && ln -s hello.txt unlinklink_$l"
            }
            (Invoke-Sh "cd '$($k1.MountPoint)' && $($make -join ' && ')").ExitCode | Should -Be 0
            $k2 = New-DaxFsBranch k2 $k1 (New-Dir 'k2') -Confirm:$false
            $k3 = New-DaxFsBranch k3 $k2 (New-Dir 'k3') -Confirm:$false
            $base = @{
                k1 = "chmod 600 hello.txt && : > keepdir/owned.txt"                     # owned.txt: main's log chowned it
                k2 = "printf A | dd of=hello.txt conv=notrunc 2>/dev/null && truncate -s 3 modify_me.txt" # modify_me.txt: main's chmod 600 and write
                k3 = "chown 1000:1001 hello.txt && chmod 640 big.bin"                   # big.bin: main's write in the middle set its size
            }
            foreach ($b in $k1, $k2, $k3) {
                $l = $b.Branch.Split('/')[-1]
                $ops = ": > trunc_$l && truncate -s 5 trunc5_$l && chmod 600 chmod_$l && chown 1000:1001 chown_$l && " +
                    "printf ZZ | dd of=write_$l bs=1 seek=3 conv=notrunc 2>/dev/null && echo more >> append_$l && rm unlink_$l && " +
                    "mv rename_$l renamed_$l && echo inside > dir_$l/inside && mkdir dir_$l/sub && ln -s ../hello.txt dir_$l/link && " +
                    "rmdir rmdir_$l && rm unlinklink_$l && $($base[$l])"
                (Invoke-Sh "cd '$($b.MountPoint)' && $ops").ExitCode | Should -Be 0 -Because "the changes in $l"
            }
            foreach ($l in 'k1', 'k2', 'k3') {
                $view = New-Dir "view-$l"
                (Invoke-Sh "mount -t daxfs -o phys=$('0x{0:x}' -f $Phys),size=$($Image.TotalSize),branch=$l none '$view'").ExitCode | Should -Be 0
                try {
                    $guest = @(Get-GuestListing $view)
                    $guest.Count | Should -BeGreaterThan 40
                    $diff = Compare-Object $guest @(Get-ReplayListing $Main $l) -CaseSensitive | ForEach-Object { "$($_.SideIndicator) $($_.InputObject)" }
                    $diff | Should -BeNullOrEmpty -Because "branch $($l): a fresh mount (<=) and the replay of the live memory (=>) differ"
                    $diff = Compare-Object @(Get-GuestContent $view) @(Get-ReplayContent $l) -CaseSensitive | ForEach-Object { "$($_.SideIndicator) $($_.InputObject)" }
                    $diff | Should -BeNullOrEmpty -Because "branch $($l): file bytes read by the kernel (<=) and by Get-DaxFsContent (=>) differ"
                    if ($l -eq 'k2') {
                        # The case of the report: made in k1, emptied in k2. A fresh mount shows mode 0 and cannot open it, as the
                        # replay does; only the mount that emptied it shows it as a regular file (from its inode cache).
                        $guest | Should -Contain '/trunc_k2 U 0 0 0:0 '
                        Read-Guest "$view/trunc_k2" | Should -Match 'read failed'
                        [IO.File]::Exists("$($k2.MountPoint)/trunc_k2") | Should -BeTrue
                        $item = Get-DaxFsItem $Main /trunc_k2 -Branch k2
                        ($item.Type, $item.UnixMode, $item.Size) | Should -Be @('Unknown', 0, 0)
                    }
                }
                finally { Dismount-DaxFs $view -Confirm:$false }
            }
            foreach ($b in $k3, $k2, $k1) { Dismount-DaxFs $b.MountPoint -Confirm:$false }
        }
    }

    Context 'the branch-trial runbook (docs/runbooks/Invoke-DaxFsBranchTrial.ps1)' {
        It 'commits a branch whose check passes: a fresh main shows the change, the report lists it' {
            $r = & $Runbook -Parent $Main -Name trial-ok -MountPoint "$Work/mnt/trial-ok" -Check {
                param($m)
                Set-Content -NoNewline -LiteralPath "$m/trial.txt" -Value 'tried'
                (Get-Content -Raw -LiteralPath "$m/trial.txt") -eq 'tried'
            } -Confirm:$false
            $r.Status | Should -Be 'Committed'
            $r.CheckPassed | Should -BeTrue
            @($r.Changes | ForEach-Object { "$($_.Change) $($_.Path)" }) | Should -Contain 'Added /trial.txt'
            (Get-DaxFsMount).MountPoint | Should -Not -Contain "$Work/mnt/trial-ok"
            $fresh = Mount-Main 'fresh-trial'
            (Read-Guest "$($fresh.MountPoint)/trial.txt") | Should -Be 'tried'
            Dismount-DaxFs $fresh.MountPoint -Confirm:$false
        }

        It 'aborts a branch whose command fails: main stays as it was' {
            $r = & $Runbook -Parent $Main -Name trial-bad -MountPoint "$Work/mnt/trial-bad" -Command sh, -c, 'echo broken > broken.txt; test -e hello.txt && exit 4' -Confirm:$false
            $r.Status | Should -Be 'Aborted'
            $r.CheckError | Should -Match 'exited with status 4'
            @($r.Changes | ForEach-Object { "$($_.Change) $($_.Path)" }) | Should -Contain 'Added /broken.txt'
            $fresh = Mount-Main 'fresh-trial2'
            Test-Guest "$($fresh.MountPoint)/broken.txt" | Should -BeFalse
            (Read-Guest "$($fresh.MountPoint)/trial.txt") | Should -Be 'tried'
            Dismount-DaxFs $fresh.MountPoint -Confirm:$false
            $table = Get-DaxFsBranch $Main
            $table.Name | Should -Not -Contain 'trial-bad'
        }
    }

    Context 'names and space' {
        It 'refuses names the kernel refuses, before calling it' {
            { New-DaxFsBranch ('n' * 32) $Main (New-Dir 'n') -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'BranchNameTooLong,DaxFs.Commands.NewDaxFsBranchCommand'
            { New-DaxFsBranch main $Main (New-Dir 'n') -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'BranchNameInvalid,DaxFs.Commands.NewDaxFsBranchCommand'
            $ok = New-DaxFsBranch ('n' * 31) $Main (New-Dir 'n') -Confirm:$false
            $ok.Branch | Should -Be ('/main/' + 'n' * 31)
            { New-DaxFsBranch ('n' * 31) $Main (New-Dir 'n2') -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'BranchNameInUse,DaxFs.Commands.NewDaxFsBranchCommand'
            Dismount-DaxFs $ok.MountPoint -Confirm:$false
        }

        It 'refuses a child of an image with a 1 MiB delta region, and the kernel answers ENOSPC too' {
            foreach ($m in Get-DaxFsMount | Where-Object MountPoint -like "$Work/mnt/*") { Dismount-DaxFs $m.MountPoint -Confirm:$false }
            $small = New-DaxFsImage "$Work/src" "$Work/small.daxfs" -Branching -DeltaSize 1MB -Owner Root -WarningVariable w -WarningAction SilentlyContinue
            "$w" | Should -Match 'New-DaxFsImage -DeltaSize'
            Write-DaxFsImage $small -PhysicalAddress $Phys -Size $small.TotalSize -Confirm:$false | Out-Null
            $m = Mount-DaxFs -PhysicalAddress $Phys -Size $small.TotalSize -MountPoint (New-Dir 'small-main') -Confirm:$false
            $err = $null
            New-DaxFsBranch child $m (New-Dir 'small-child') -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $err[0].FullyQualifiedErrorId | Should -Be 'DeltaRegionFull,DaxFs.Commands.NewDaxFsBranchCommand'
            $err[0].Exception.Message | Should -Match '0 bytes left'
            $err[0].Exception.Message | Should -Match 'New-DaxFsImage -DeltaSize'
            # The kernel's own answer, asked directly:
            $r = Invoke-Sh "mount -t daxfs -o phys=$('0x{0:x}' -f $Phys),size=$($small.TotalSize),branch=child,parent=main none '$Work/mnt/small-child'"
            $r.ExitCode | Should -Not -Be 0
            $r.Output | Should -Match 'No space left on device'
            Dismount-DaxFs $m.MountPoint -Confirm:$false
        }
    }

    Context 'dma-buf images' {
        It 'creates a child of a dma-buf mount through DAXFS_IOC_GET_DMABUF and the new mount API' -Skip:(-not (Test-Path /dev/dma_heap/system)) {
            $script:DmaVerbose = ''
            $buf = New-DmaBuf -Size ([long][Math]::Ceiling($Image.TotalSize / 4096) * 4096) -Confirm:$false
            try {
                Write-DaxFsImage $Image -DmaBuf $buf -Confirm:$false | Out-Null
                $main = Mount-DaxFs -DmaBuf $buf -MountPoint (New-Dir 'dma-main') -Confirm:$false
                $child = New-DaxFsBranch dchild $main (New-Dir 'dma-child') -Confirm:$false -Verbose 4>&1 |
                    ForEach-Object { if ($_ -is [Management.Automation.VerboseRecord]) { $script:DmaVerbose += "$_`n" } else { $_ } }
                $script:DmaVerbose | Should -Match 'the dma-buf of'
                $child.DmaBuf | Should -BeTrue
                $child.Branch | Should -Be '/main/dchild'
                Write-Guest "$($child.MountPoint)/dma.txt" 'dma'
                (Read-Guest "$($child.MountPoint)/dma.txt") | Should -Be 'dma'
                # The branch, read from the dma-buf itself while it is mounted.
                (Get-DaxFsBranch $buf -Name dchild).State | Should -Be 'Active'
                (Get-DaxFsItem $buf -Branch dchild -Path /dma.txt).Size | Should -Be 3
                (Get-DaxFsContent $buf /dma.txt -Branch dchild -Raw) | Should -Be 'dma'
                (Get-DaxFsBranch $child -Name dchild).EntryCount | Should -BeGreaterThan 0
                (Undo-DaxFsBranch $child -Confirm:$false -PassThru).Branch | Should -Be '/main'
                Dismount-DaxFs $child.MountPoint, $main.MountPoint -Confirm:$false
            }
            finally { $buf.Dispose() }
        }
    }
}
