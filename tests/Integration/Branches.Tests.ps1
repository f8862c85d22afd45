# Branches through the real daxfs module: New-DaxFsBranch, Complete-DaxFsBranch, Undo-DaxFsBranch, unmount, sibling
# invalidation, ENOSPC, and Get-DaxFsItem -Branch over a copy of the memory against the live mounts. The scenarios of the
# reference's tests/test_branch.sh (main read-only, child writable, isolation, nesting, abort by unmount, mkdir, unlink,
# rmdir, symlink, rename, truncate, commit, sibling invalidation) are cases here too.
# It writes to /dev/pmem0, so it runs only inside the VM of ../shared/vm:
#   /work/shared/vm/run-vm.sh --memory-size 256M -- dotnet pwsh -NoProfile -File tests/Integration/Branches.Tests.ps1
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
        $script:Phys = [uint64]$env:DAXFS_VM_PHYS
        $script:Work = '/tmp/daxfs-branches'
        Remove-Item -Recurse -Force $Work -ErrorAction Ignore
        $src = New-Item -ItemType Directory -Force "$Work/src"
        Set-Content -NoNewline -LiteralPath "$src/hello.txt" -Value 'Hello from base image'
        Set-Content -NoNewline -LiteralPath "$src/modify_me.txt" -Value 'Original content'
        New-Item -ItemType Directory "$src/subdir", "$src/keepdir" | Out-Null
        Set-Content -NoNewline -LiteralPath "$src/subdir/nested.txt" -Value 'File in subdir'
        Set-Content -NoNewline -LiteralPath "$src/keepdir/owned.txt" -Value 'chown me'
        [IO.File]::WriteAllBytes("$src/big.bin", [byte[]](0..9999 | ForEach-Object { $_ % 251 }))
        $script:Image = New-DaxFsImage $src "$Work/branching.daxfs" -Branching -DeltaSize 16MB -Owner Root
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
        # File operations in the mounts go through sh (cat, printf, test, mkdir, rm), as test_branch.sh does them.
        function script:Read-Guest([string] $Path) { $r = Invoke-Sh "cat '$Path'"; if ($r.ExitCode -eq 0) { $r.Output } else { "cat failed ($($r.ExitCode)): $($r.Output)" } }
        function script:Write-Guest([string] $Path, [string] $Text) {
            $r = Invoke-Sh "printf '%s' '$Text' > '$Path'"
            if ($r.ExitCode -ne 0) { throw "writing $Path failed: $($r.Output)" }
        }
        function script:Test-Guest([string] $Path, [switch] $Directory) { (Invoke-Sh "test $(if ($Directory) { '-d' } else { '-e' }) '$Path'").ExitCode -eq 0 }
        # A copy of the memory: the first TotalSize bytes of /dev/pmem0 (raw namespace at $Phys).
        function script:Save-Memory([string] $Name) {
            $path = "$Work/$Name.daxfs"
            $r = Invoke-Sh "dd if=/dev/pmem0 of='$path' bs=4096 count=$($Image.TotalSize / 4096) iflag=direct 2>&1"
            if ($r.ExitCode -ne 0) { throw "dd failed: $($r.Output)" }
            $path
        }
        # path type mode size target content-hash of every entry under a directory, as the guest sees it.
        function script:Get-GuestListing([string] $Root) {
            $lines = Invoke-Sh "cd '$Root' && find . -mindepth 1 -printf '%p %y %m %s %l\n' | sort"
            $lines.Output -split "`n" | Where-Object { $_ } | ForEach-Object {
                $f = $_ -split ' '
                # Directory sizes and modes come from the live mount's inode cache: compare what a fresh view shows too.
                if ($f[1] -eq 'd') { '{0} d' -f $f[0].Substring(1) } else { '{0} {1} {2} {3} {4}' -f $f[0].Substring(1), $f[1], $f[2], $f[3], $f[4] }
            }
        }
        function script:Get-ReplayListing([string] $Image, [string] $Branch) {
            Get-DaxFsItem $Image -Branch $Branch -Recurse -WarningAction SilentlyContinue | Sort-Object { $_.FullName } -Culture ([cultureinfo]::InvariantCulture) |
                Where-Object FullName -ne '/' | ForEach-Object {
                    $t = switch ($_.Type) { 'Directory' { 'd' } 'File' { 'f' } 'SymbolicLink' { 'l' } default { '?' } }
                    if ($t -eq 'd') { '{0} d' -f $_.FullName }
                    else { '{0} {1} {2} {3} {4}' -f $_.FullName, $t, [Convert]::ToString($_.Permissions, 8), $_.Size, "$($_.Target)" }
                }
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
        if (Test-Path "$Work/mnt") {
            # Children first: deeper branch paths unmount before their parents.
            Get-DaxFsMount | Sort-Object { ($_.Branch -split '/').Count } -Descending | ForEach-Object { Dismount-DaxFs $_.MountPoint -Confirm:$false -ErrorAction SilentlyContinue }
        }
    }

    Context 'the scenarios of test_branch.sh' {
        It 'keeps main read-only' {
            $Main.Branch | Should -Be '/main'
            $Main.ReadOnly | Should -BeTrue
            (Read-Guest "$($Main.MountPoint)/hello.txt") | Should -Be 'Hello from base image'
            (Invoke-Sh "echo test > '$($Main.MountPoint)/newfile.txt'").ExitCode | Should -Not -Be 0
            (Invoke-Sh "echo modified > '$($Main.MountPoint)/hello.txt'").ExitCode | Should -Not -Be 0
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
            (Invoke-Sh "mkdir '$m/newdir'").ExitCode | Should -Be 0
            Write-Guest "$m/newdir/file.txt" 'file in new dir'
            Test-Guest "$m/newdir" -Directory | Should -BeTrue
            (Read-Guest "$m/newdir/file.txt") | Should -Be 'file in new dir'
            (Invoke-Sh "rm '$m/subdir/nested.txt'").ExitCode | Should -Be 0
            Test-Guest "$m/subdir/nested.txt" | Should -BeFalse
            Test-Guest "$($Main.MountPoint)/subdir/nested.txt" | Should -BeTrue
            (Invoke-Sh "rmdir '$m/subdir'").ExitCode | Should -Be 0
            Test-Guest "$($Main.MountPoint)/subdir" -Directory | Should -BeTrue
            (Invoke-Sh "ln -s hello.txt '$m/link_to_hello'").ExitCode | Should -Be 0
            (Invoke-Sh "readlink '$m/link_to_hello'").Output | Should -Be 'hello.txt'
            (Read-Guest "$m/link_to_hello") | Should -Be 'Hello from base image'
            (Invoke-Sh "mv '$m/branch_file.txt' '$m/renamed_file.txt'").ExitCode | Should -Be 0   # succeeds; the kernel does not show it (about_DaxFs)
            (Invoke-Sh "truncate -s 5 '$m/hello.txt'").ExitCode | Should -Be 0
            (Invoke-Sh "stat -c %s '$m/hello.txt'").Output | Should -Be 5
            (Read-Guest "$($Main.MountPoint)/hello.txt") | Should -Be 'Hello from base image'
            (Invoke-Sh "chmod 600 '$m/modify_me.txt' && chown 1000:1000 '$m/keepdir/owned.txt' && printf 'ZZ' | dd of='$m/big.bin' bs=1 seek=5000 conv=notrunc 2>/dev/null && echo tail >> '$m/newdir/file.txt'").ExitCode | Should -Be 0
        }

        It 'shows through Get-DaxFsItem -Branch over a copy of the memory what the live mounts show (while active)' {
            $copy = Save-Memory 'live'
            foreach ($b in @(@{ Name = 'branch1'; Mount = $B1.MountPoint }, @{ Name = 'branch2'; Mount = $B2.MountPoint }, @{ Name = 'main'; Mount = $Main.MountPoint })) {
                $guest = @(Get-GuestListing $b.Mount)
                $replay = @(Get-ReplayListing $copy $b.Name)
                $diff = Compare-Object $guest $replay -CaseSensitive | ForEach-Object { "$($_.SideIndicator) $($_.InputObject)" }
                $diff | Should -BeNullOrEmpty -Because "branch $($b.Name): the guest (<=) and the replay (=>) differ"
            }
            foreach ($f in 'modify_me.txt', 'newdir/file.txt', 'hello.txt', 'link_to_hello') {
                $want = [Convert]::FromBase64String((Invoke-Sh "base64 -w0 '$($B1.MountPoint)/$f'").Output)
                $got = [byte[]](Get-DaxFsContent $copy "/$f" -Branch branch1 -AsByteStream)
                [Convert]::ToHexString($got) | Should -Be ([Convert]::ToHexString($want)) -Because "/$f in branch1"
            }
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
            $r = Invoke-Sh "cat '$($Sibling.MountPoint)/branch2_file.txt'"
            $r.ExitCode | Should -Not -Be 0
            $r.Output | Should -Match 'Stale file handle'
            (Invoke-Sh "ls '$($Sibling.MountPoint)'").Output | Should -Match 'Stale file handle'
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
            foreach ($m in $a, $s, $t) { (Invoke-Sh "ls '$($m.MountPoint)'").Output | Should -Match 'Stale file handle' -Because "$($m.Branch) is invalidated" }
            (Invoke-Sh "ls '$($c.MountPoint)'").ExitCode | Should -Be 0 -Because 'a child of an invalidated sibling is not invalidated itself'
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
            (Invoke-Sh "ls '$($x.MountPoint)'").Output | Should -Match 'Stale file handle'
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
            foreach ($m in Get-DaxFsMount) { Dismount-DaxFs $m.MountPoint -Confirm:$false }
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
                (Undo-DaxFsBranch $child -Confirm:$false -PassThru).Branch | Should -Be '/main'
                Dismount-DaxFs $child.MountPoint, $main.MountPoint -Confirm:$false
            }
            finally { $buf.Dispose() }
        }
    }
}
