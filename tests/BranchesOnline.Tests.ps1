# New-DaxFsBranch, Complete-DaxFsBranch and Undo-DaxFsBranch against a fake host: the kernel-made nested.daxfs
# (main, a committed child, feature <- main, deep <- feature; 1 MiB of delta region left) sits in a fake /dev/mem at a
# made-up physical address, a mountinfo file shows its branches mounted, DAXFS_ASSUME_ROOT=0 keeps every real mount
# call away. Parameter sets, -WhatIf texts and the pre-check errors; the kernel side is in Integration/Branches.Tests.ps1.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $script:Nested = Join-Path $PSScriptRoot 'fixtures/branches/nested.daxfs'
    $script:Phys = 0x200000
    $script:Size = (Get-Item $Nested).Length
    $script:SavedEnv = Save-FakeHostEnvironment

    # A fake host: the image (bytes, changed by $Change) at $Phys in dev/mem, and mountinfo lines for @{ name = branch path }.
    function New-BranchHost([System.Collections.Specialized.OrderedDictionary] $Mounts, [scriptblock] $Change, [switch] $NoMemory) {
        $root = New-FakeHostRoot 'h'
        New-Item -ItemType Directory -Force "$root/dev", "$root/mnt" | Out-Null
        $bytes = [IO.File]::ReadAllBytes($Nested)
        if ($Change) { & $Change $bytes }
        if (-not $NoMemory) {
            $f = [IO.File]::Create("$root/dev/mem")
            try { $f.Seek($Phys, 'Begin') | Out-Null; $f.Write($bytes, 0, $bytes.Length) } finally { $f.Dispose() }
        }
        $id = 40
        $lines = foreach ($k in $Mounts.Keys) {
            $mp = (New-Item -ItemType Directory -Force "$root/mnt/$k").FullName
            $ro = if ($Mounts[$k] -eq '/main') { 'ro' } else { 'rw' }
            "$id 1 0:$id / $mp rw,relatime - daxfs none $ro,phys=0x$('{0:x}' -f $Phys),size=$Size,branch=$($Mounts[$k])"
            $id++
        }
        Set-Content "$root/mountinfo" ($lines -join "`n")
        Set-FakeHostEnvironment -DevRoot "$root/dev" -MountInfo "$root/mountinfo" -AssumeRoot 0
        $root
    }
    function Get-WhatIf([scriptblock] $Script) {
        $t = Join-Path $TestDrive "whatif-$([guid]::NewGuid().ToString('n')).txt"
        Start-Transcript -Path $t -UseMinimalHeader | Out-Null
        try { & $Script } finally { Stop-Transcript | Out-Null }
        (Get-Content -Raw $t) -replace "`r", ''
    }
    # Sets the state field of branch-table slot $Slot (the table starts at 4096, 128-byte records, state at +40).
    function Set-SlotState([byte[]] $Bytes, [int] $Slot, [int] $State) { $Bytes[4096 + 128 * $Slot + 40] = $State }
}

AfterAll {
    Restore-FakeHostEnvironment $SavedEnv
}

Describe 'New-DaxFsBranch' {
    BeforeEach {
        $script:H = New-BranchHost ([ordered]@{ main = '/main'; feature = '/main/feature'; deep = '/main/feature/deep' })
        New-Item -ItemType Directory "$H/mnt/new" | Out-Null
    }

    It 'has one parameter set: Name, Parent (path or DaxFsMount, from the pipeline) and MountPoint, all mandatory' {
        $c = Get-Command New-DaxFsBranch
        $c.ParameterSets.Count | Should -Be 1
        foreach ($p in 'Name', 'Parent', 'MountPoint') { $c.Parameters[$p].Attributes.Where({ $_ -is [Parameter] }).Mandatory | Should -BeTrue }
        $c.Parameters['Parent'].Attributes.Where({ $_ -is [Parameter] }).ValueFromPipeline | Should -BeTrue
        $c.Parameters.ContainsKey('WhatIf') | Should -BeTrue
        (Get-Command New-DaxFsBranch).OutputType.Type | Should -Be ([DaxFs.DaxFsMount])
    }

    It 'plans a child of a path, of a DaxFsMount and of a piped DaxFsMount, and mounts nothing under -WhatIf' {
        $want = "mount -t daxfs -o phys=0x200000,size=0x$('{0:x}' -f $Size),branch=child,parent=feature none $H/mnt/new"
        (Get-WhatIf { New-DaxFsBranch child "$H/mnt/feature" "$H/mnt/new" -WhatIf }) | Should -Match ([regex]::Escape($want))
        $m = Get-DaxFsMount "$H/mnt/feature"
        (Get-WhatIf { New-DaxFsBranch -Name child -Parent $m -MountPoint "$H/mnt/new" -WhatIf }) | Should -Match ([regex]::Escape("Create branch '/main/feature/child'"))
        (Get-WhatIf { $m | New-DaxFsBranch -Name child -MountPoint "$H/mnt/new" -WhatIf }) | Should -Match ([regex]::Escape($want))
        New-DaxFsBranch child "$H/mnt/feature" "$H/mnt/new" -WhatIf | Should -BeNullOrEmpty
    }

    It 'says in -Verbose what it read from the memory' {
        $v = New-DaxFsBranch child "$H/mnt/main" "$H/mnt/new" -WhatIf -Verbose 4>&1 | ForEach-Object { "$_" }
        $v -join "`n" | Should -Match '4 records used, 252 free; 1048576 bytes left in the delta region'
    }

    It 'needs root to mount, after the checks' {
        { New-DaxFsBranch child "$H/mnt/main" "$H/mnt/new" -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'NotRoot,DaxFs.Commands.NewDaxFsBranchCommand'
    }

    It 'refuses <Case> with <Id> before calling the kernel' -ForEach @(
        @{ Case = 'a 32-byte name'; Name = ('x' * 32); Parent = 'main'; Id = 'BranchNameTooLong'; Text = '32 bytes long.*at most 31' }
        @{ Case = 'main as a name'; Name = 'main'; Parent = 'main'; Id = 'BranchNameInvalid'; Text = 'root branch' }
        @{ Case = 'a comma'; Name = 'a,b'; Parent = 'main'; Id = 'BranchNameInvalid'; Text = "without ','" }
        @{ Case = 'a name in use'; Name = 'deep'; Parent = 'main'; Id = 'BranchNameInUse'; Text = "already has an active branch 'deep'" }
        @{ Case = 'a parent that is not a mount'; Name = 'x'; Parent = 'new'; Id = 'NotMounted'; Text = 'not a mount point' }
    ) {
        $err = $null
        New-DaxFsBranch $Name "$H/mnt/$Parent" "$H/mnt/new" -WhatIf -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -Be "$Id,DaxFs.Commands.NewDaxFsBranchCommand"
        $err[0].Exception.Message | Should -Match $Text
    }

    It 'refuses a parent a commit invalidated, and keeps its name taken' {
        $H = New-BranchHost ([ordered]@{ main = '/main'; feature = '/main/feature' }) { param($b) Set-SlotState $b 2 3 }
        New-Item -ItemType Directory "$H/mnt/new" | Out-Null
        { New-DaxFsBranch x "$H/mnt/feature" "$H/mnt/new" -WhatIf -ErrorAction Stop } | Should -Throw -ErrorId 'ParentBranchNotActive,DaxFs.Commands.NewDaxFsBranchCommand'
        $err = $null
        New-DaxFsBranch feature "$H/mnt/main" "$H/mnt/new" -WhatIf -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be 'BranchNameInUse,DaxFs.Commands.NewDaxFsBranchCommand'
        $err[0].CategoryInfo.Category | Should -Be 'ResourceExists'
    }

    It 'refuses a delta region with less than 1 MiB left, saying how much is left and that New-DaxFsImage -DeltaSize sets it' {
        # delta_alloc_offset (superblock +88) one byte further: 1 MiB - 1 left.
        $H = New-BranchHost ([ordered]@{ main = '/main' }) { param($b) $v = [BitConverter]::ToUInt64($b, 88) + 1; [BitConverter]::GetBytes([uint64]$v).CopyTo($b, 88) }
        New-Item -ItemType Directory "$H/mnt/new" | Out-Null
        $err = $null
        New-DaxFsBranch x "$H/mnt/main" "$H/mnt/new" -WhatIf -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be 'DeltaRegionFull,DaxFs.Commands.NewDaxFsBranchCommand'
        $err[0].CategoryInfo.Category | Should -Be 'LimitsExceeded'
        $err[0].Exception.Message | Should -Match '1048575 bytes left \(of 5242880\)'
        $err[0].Exception.Message | Should -Match 'New-DaxFsImage -DeltaSize sets'
    }

    It 'words the delta advice as New-DaxFsImage does when -DeltaSize leaves no room' {
        $src = New-Item -ItemType Directory (Join-Path $TestDrive 'src-small')
        Set-Content "$src/f" 'x'
        New-DaxFsImage $src (Join-Path $TestDrive 'small.daxfs') -Branching -DeltaSize 1MB -WarningVariable w -WarningAction SilentlyContinue | Out-Null
        "$w" | Should -Match 'no room for a child branch'
        $H = New-BranchHost ([ordered]@{ main = '/main' }) { param($b) [BitConverter]::GetBytes([uint64](106496 + 5242880)).CopyTo($b, 88) }
        New-Item -ItemType Directory "$H/mnt/new" | Out-Null
        $err = $null
        New-DaxFsBranch x "$H/mnt/main" "$H/mnt/new" -WhatIf -ErrorVariable err -ErrorAction SilentlyContinue
        $advice = [DaxFs.Core.Branches.BranchSpace]::Advice
        "$w" | Should -BeLike "*$advice*"
        $err[0].Exception.Message | Should -BeLike "*0 bytes left*$advice*"
    }

    It 'says when it cannot read the memory and leaves the decision to the kernel' {
        $H = New-BranchHost ([ordered]@{ main = '/main' }) -NoMemory
        New-Item -ItemType Directory "$H/mnt/new" | Out-Null
        $v = New-DaxFsBranch x "$H/mnt/main" "$H/mnt/new" -WhatIf -Verbose 4>&1 | ForEach-Object { "$_" }
        $v -join "`n" | Should -Match 'could not be read, so the kernel checks alone'
    }
}

Describe 'Complete-DaxFsBranch and Undo-DaxFsBranch' {
    BeforeEach {
        # side: a sibling of feature (slot 4, id 5); twin: a sibling of deep (slot 5, id 6); both mounted.
        $script:H = New-BranchHost ([ordered]@{ main = '/main'; feature = '/main/feature'; deep = '/main/feature/deep'; side = '/main/side'; twin = '/main/feature/twin' }) {
            param($b)
            foreach ($r in @(@{ Slot = 4; Id = 5; Parent = 1; Name = 'side' }, @{ Slot = 5; Id = 6; Parent = 3; Name = 'twin' })) {
                $at = 4096 + 128 * $r.Slot
                [BitConverter]::GetBytes([uint64]$r.Id).CopyTo($b, $at)
                [BitConverter]::GetBytes([uint64]$r.Parent).CopyTo($b, $at + 8)
                $b[$at + 40] = 1
                [Text.Encoding]::UTF8.GetBytes($r.Name).CopyTo($b, $at + 56)
            }
        }
    }

    It 'both take mount paths or DaxFsMounts, by position and from the pipeline, with ConfirmImpact High' {
        foreach ($n in 'Complete-DaxFsBranch', 'Undo-DaxFsBranch') {
            $c = Get-Command $n
            $c.ImplementingType.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false)[0].ConfirmImpact | Should -Be 'High'
            $a = $c.Parameters['MountPoint'].Attributes.Where({ $_ -is [Parameter] })[0]
            $a.Position | Should -Be 0
            $a.ValueFromPipeline | Should -BeTrue
            $c.Parameters['MountPoint'].Aliases | Should -Contain 'Path'
            $c.Parameters.ContainsKey('PassThru') | Should -BeTrue
        }
    }

    It 'names under -WhatIf the chain a commit merges and every invalidated sibling with its mount point' {
        $text = Get-WhatIf { Complete-DaxFsBranch "$H/mnt/deep" -WhatIf }
        $text | Should -Match "Merge 'deep' with its parent chain 'feature' into main"
        $text | Should -Match ([regex]::Escape("Mounts of merged branches go stale (ESTALE): '$H/mnt/feature'"))
        $text | Should -Match ([regex]::Escape("'twin' (/main/feature/twin, mounted at '$H/mnt/twin'), 'side' (/main/side, mounted at '$H/mnt/side')"))
        $text | Should -Match ([regex]::Escape("mount -o remount,commit $H/mnt/deep"))
        $same = Get-WhatIf { Get-DaxFsMount "$H/mnt/deep" | Complete-DaxFsBranch -WhatIf }
        $same | Should -Match "'twin' \(/main/feature/twin"
    }

    It 'names under -WhatIf the chain an abort discards, and no sibling' {
        $text = Get-WhatIf { Undo-DaxFsBranch (Get-DaxFsMount "$H/mnt/deep") -WhatIf }
        $text | Should -Match "Discard 'deep' with its parent chain 'feature' back to main"
        $text | Should -Not -Match 'twin'
        $text | Should -Match 'remount,abort'
    }

    It 'plans each of several mounts' {
        $text = Get-WhatIf { Undo-DaxFsBranch "$H/mnt/side", "$H/mnt/twin" -WhatIf }
        $text | Should -Match ([regex]::Escape("remount,abort $H/mnt/side"))
        $text | Should -Match ([regex]::Escape("remount,abort $H/mnt/twin"))
    }

    It '<Cmd> refuses <Case> with <Id>' -ForEach @(
        @{ Cmd = 'Complete-DaxFsBranch'; Case = 'main'; Mount = 'main'; Id = 'MainBranchCannotEnd' }
        @{ Cmd = 'Undo-DaxFsBranch'; Case = 'main'; Mount = 'main'; Id = 'MainBranchCannotEnd' }
        @{ Cmd = 'Complete-DaxFsBranch'; Case = 'a path that is not mounted'; Mount = 'nothing'; Id = 'NotMounted' }
    ) {
        $type = if ($Cmd -like 'Complete*') { 'CompleteDaxFsBranchCommand' } else { 'UndoDaxFsBranchCommand' }
        { & $Cmd "$H/mnt/$Mount" -WhatIf -ErrorAction Stop } | Should -Throw -ErrorId "$Id,DaxFs.Commands.$type"
    }

    It 'refuses a branch a commit invalidated' {
        $H = New-BranchHost ([ordered]@{ main = '/main'; deep = '/main/feature/deep' }) { param($b) Set-SlotState $b 3 3 }
        { Complete-DaxFsBranch "$H/mnt/deep" -WhatIf -ErrorAction Stop } | Should -Throw -ErrorId 'BranchNotActive,DaxFs.Commands.CompleteDaxFsBranchCommand'
    }

    It 'needs root after the confirmation' {
        { Complete-DaxFsBranch "$H/mnt/deep" -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'NotRoot,DaxFs.Commands.CompleteDaxFsBranchCommand'
        { Undo-DaxFsBranch "$H/mnt/deep" -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'NotRoot,DaxFs.Commands.UndoDaxFsBranchCommand'
    }
}
