# Mount-DaxFs (and its validation gate), Get-DaxFsMount and Dismount-DaxFs against the fake device host (DeviceHost.ps1):
# a mountinfo file stands for the mount table; real mount calls are made only where they fail before touching memory.
BeforeAll { . (Join-Path $PSScriptRoot 'DeviceHost.ps1') }
AfterAll { Restore-FakeHostEnvironment $SavedEnv }

Describe 'Mount-DaxFs' {
    BeforeEach { $h = New-FakeHost }

    It 'shows the mount(2) call under -WhatIf and mounts nothing' {
        Mount-DaxFs -Device dax0.0 -MountPoint $h.MountPoint -WhatIf -Verbose 4>&1 | Out-String |
            Should -Match ([regex]::Escape("mount -t daxfs -o phys=0x100a00000,size=0x1f600000 dax0.0 $($h.MountPoint)"))
    }
    It 'refuses a missing mount point' {
        $e = { Mount-DaxFs -Device dax0.0 -MountPoint (Join-Path $h.Root 'nope') -Confirm:$false -ErrorAction Stop } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -Be 'MountPointNotFound,DaxFs.Commands.MountDaxFsCommand'
        $e.CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $e.Exception.Message | Should -Match 'New-Item -ItemType Directory'
    }
    It 'refuses a mount point that is in use' {
        Set-Content $h.MountInfo "61 27 0:52 / $($h.MountPoint) rw - tmpfs tmpfs rw"
        { Mount-DaxFs -Device dax0.0 -MountPoint $h.MountPoint -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'MountPointBusy,DaxFs.Commands.MountDaxFsCommand'
    }
    It 'refuses a device made of several physical ranges' {
        $e = { Mount-DaxFs -Device dax1.0 -MountPoint $h.MountPoint -WhatIf -ErrorAction Stop } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -Be 'DaxDeviceMultiRange,DaxFs.Commands.MountDaxFsCommand'
        $e.TargetObject | Should -Be 'dax1.0'
    }
    It 'refuses memory that holds no image, before any mount call' {
        $e = { Mount-DaxFs -Device dax0.0 -MountPoint $h.MountPoint -Confirm:$false -ErrorAction Stop } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -Be 'NoDaxFsImageAtTarget,DaxFs.Commands.MountDaxFsCommand'
        $e.CategoryInfo.Category | Should -Be 'InvalidData'
        $e.Exception.Message | Should -Match 'Write-DaxFsImage IMAGE -Device dax0.0'
    }
    It 'refuses a size below the size the image says it has' {
        Write-DaxFsImage $Basic -Device dax0.0 -Confirm:$false
        $e = { Mount-DaxFs -PhysicalAddress 0x100a00000 -Size 0x10000 -MountPoint $h.MountPoint -Confirm:$false -ErrorAction Stop } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -Be 'ImageLargerThanMountSize,DaxFs.Commands.MountDaxFsCommand'
        $e.Exception.Message | Should -Match 'crashes the kernel'
    }
    It 'needs root' {
        $env:DAXFS_ASSUME_ROOT = '0'
        { Mount-DaxFs -Device dax0.0 -MountPoint $h.MountPoint -Confirm:$false } | Should -Throw -ErrorId 'NotRoot,DaxFs.Commands.MountDaxFsCommand'
    }
    It 'says modprobe daxfs when the kernel does not know daxfs (real mount(2))' {
        if ($NoRealKernelCall) { Set-ItResult -Skipped -Because $NoRealKernelCall; return }
        # Safe only because the kernel has no daxfs: mount(2) fails with ENODEV before it looks at phys= (a fake address).
        Write-DaxFsImage $Sound -Device dax0.0 -Confirm:$false
        $e = { Mount-DaxFs -Device dax0.0 -MountPoint $h.MountPoint -Validate -Confirm:$false -ErrorAction Stop } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -Be 'DaxFsModuleNotLoaded,DaxFs.Commands.MountDaxFsCommand'
        $e.CategoryInfo.Category | Should -Be 'NotInstalled'
        $e.Exception.Message | Should -Match 'modprobe daxfs'
    }
    It 'takes Write-DaxFsImage -PassThru from the pipeline and mounts a dma-buf through the new mount API (real fsopen)' {
        if ($NoRealKernelCall) { Set-ItResult -Skipped -Because $NoRealKernelCall; return }
        $b = New-DmaBuf -Size 1MB
        try {
            $e = { $Sound | Write-DaxFsImage -DmaBuf $b -PassThru -Confirm:$false | Mount-DaxFs -MountPoint $h.MountPoint -Confirm:$false -ErrorAction Stop } | Should -Throw -PassThru
            $e.FullyQualifiedErrorId | Should -Be 'DaxFsModuleNotLoaded,DaxFs.Commands.MountDaxFsCommand'
            $e.Exception.Errno | Should -Be 19
        }
        finally { $b.Dispose() }
    }
    It 'shows the new mount API calls for a dma-buf under -WhatIf' {
        $b = New-DmaBuf -Size 1MB
        try {
            $b | Mount-DaxFs -MountPoint $h.MountPoint -Validate -WhatIf -Verbose 4>&1 | Out-String |
                Should -Match 'fsopen\("daxfs"\), fsconfig\(FSCONFIG_SET_FD "dmabuf"=fd \d+\), fsconfig\(FSCONFIG_SET_FLAG "validate"\), fsconfig\(FSCONFIG_CMD_CREATE\)'
        }
        finally { $b.Dispose() }
    }
}

Describe 'Mount-DaxFs validation gate' {
    BeforeAll {
        # A copy of a sound image with one field broken: the base image region runs past the end (base_size at 32).
        # Write-DaxFsImage refuses to read such an image, so the bytes go straight into the fake device's node.
        function Set-HostileImage([long] $At, [uint64] $Value) {
            $bytes = [IO.File]::ReadAllBytes($Sound)
            [BitConverter]::GetBytes($Value).CopyTo($bytes, $At)
            Set-NodeBytes $bytes
        }
        function Set-NodeBytes([byte[]] $Bytes) {
            $f = [IO.File]::OpenWrite($h.Node); try { $f.Write($Bytes, 0, $Bytes.Length) } finally { $f.Dispose() }
        }
    }
    BeforeEach { $h = New-FakeHost }

    It 'refuses a hostile image before any mount call, with the rule ids, offsets and the fix' {
        Set-HostileImage 32 ([uint64](1L -shl 40))
        $e = { Mount-DaxFs -Device dax0.0 -MountPoint $h.MountPoint -Confirm:$false -ErrorAction Stop } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -Be 'ImageFailsValidation,DaxFs.Commands.MountDaxFsCommand'
        $e.CategoryInfo.Category | Should -Be 'InvalidData'
        $e.TargetObject | Should -Be 'dax0.0'
        $e.Exception.Message | Should -Match 'SB-BASE-BOUNDS at 0x18: '
        $e.Exception.Message | Should -Match 'Test-DaxFsImage -Detailed'
        $e.Exception.Message | Should -Match 'New-DaxFsImage'
        $e.Exception.Message | Should -Match '-SkipValidation'
        $findings = @($e.Exception.Data['Findings'])
        $findings[0] | Should -BeOfType 'DaxFs.DaxFsValidationFinding'
        $findings.RuleId | Should -Contain 'SB-BASE-BOUNDS'
        ($findings | Where-Object RuleId -eq 'SB-BASE-BOUNDS').Severity | Should -Be 'Error'
        ($findings | Where-Object RuleId -eq 'SB-BASE-BOUNDS').ImagePath | Should -Be 'dax0.0'
    }
    It 'refuses a directory entry that points outside the inode table, naming that rule' {
        # deep.static: the root's first dirent is at base + data; ino at its start. Found through the reader.
        $root = Get-DaxFsItem $Sound | Select-Object -First 1
        $bytes = [IO.File]::ReadAllBytes($Sound)
        $base = [BitConverter]::ToInt64($bytes, 24)
        $table = $base + [BitConverter]::ToInt64($bytes, $base + 24)
        $rootData = $base + [BitConverter]::ToInt64($bytes, $table + 24)
        [BitConverter]::GetBytes([uint32]999999).CopyTo($bytes, $rootData)
        Set-NodeBytes $bytes
        $e = { Mount-DaxFs -Device dax0.0 -MountPoint $h.MountPoint -Confirm:$false -ErrorAction Stop } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -Be 'ImageFailsValidation,DaxFs.Commands.MountDaxFsCommand'
        $e.Exception.Message | Should -Match ('DIRENT-INO at 0x{0:x}: ' -f $rootData)
        $root | Should -Not -BeNullOrEmpty
    }
    It 'refuses an empty inode slot that a directory entry names (INODE-TYPE)' {
        $bytes = [IO.File]::ReadAllBytes($Basic)
        # Inode 18 (/a/five000) zeroed: its dirent now names an inode of no type.
        [Array]::Clear($bytes, 0x2000 + 17 * 64, 64)
        Set-NodeBytes $bytes
        $e = { Mount-DaxFs -Device dax0.0 -MountPoint $h.MountPoint -Confirm:$false -ErrorAction Stop } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -Be 'ImageFailsValidation,DaxFs.Commands.MountDaxFsCommand'
        @($e.Exception.Data['Findings'] | Where-Object Severity -eq 'Error').RuleId | Should -Contain 'INODE-TYPE'
    }
    It 'under -WhatIf reads and validates nothing, and mounts nothing' {
        Set-HostileImage 32 ([uint64](1L -shl 40))
        $out = Mount-DaxFs -Device dax0.0 -MountPoint $h.MountPoint -WhatIf -Verbose -ErrorAction Stop 4>&1 | Out-String
        $out | Should -Match 'mount -t daxfs -o phys=0x100a00000'
        $out | Should -Not -Match 'validation'
    }
    It '-SkipValidation warns that the kernel may crash, and then leaves the image to the kernel' {
        Set-HostileImage 32 ([uint64](1L -shl 40))
        Mount-DaxFs -Device dax0.0 -MountPoint $h.MountPoint -SkipValidation -WhatIf -WarningVariable w 3>$null | Out-Null
        "$w" | Should -Match '-SkipValidation'
        "$w" | Should -Match 'can crash the kernel'
        if ($NoRealKernelCall) { Set-ItResult -Skipped -Because $NoRealKernelCall; return }
        # Safe only because the kernel has no daxfs: mount(2) fails with ENODEV before it looks at the memory.
        $e = { Mount-DaxFs -Device dax0.0 -MountPoint $h.MountPoint -SkipValidation -Confirm:$false -ErrorAction Stop -WarningAction SilentlyContinue } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -Be 'DaxFsModuleNotLoaded,DaxFs.Commands.MountDaxFsCommand'
    }
    It 'lets <Name> through to the mount call, its validate-only bookkeeping as a verbose note (<Note>)' -ForEach @(
        @{ Name = 'a sound image'; Image = 'deep.static.daxfs'; Note = 'NLINK-MISMATCH at 0x[0-9a-f]+: 41 directories have a link count' }
        @{ Name = 'an image mkdaxfs wrote with a hard link'; Image = 'basic.static.daxfs'; Note = 'INODE-EMPTY at 0x2484: Inode 19 is an empty' }) {
        if ($NoRealKernelCall) { Set-ItResult -Skipped -Because $NoRealKernelCall; return }
        Write-DaxFsImage (Join-Path $Vectors $Image) -Device dax0.0 -Confirm:$false
        $e = $null
        $v = Mount-DaxFs -Device dax0.0 -MountPoint $h.MountPoint -Confirm:$false -Verbose -ErrorVariable e -ErrorAction SilentlyContinue -WarningVariable w 4>&1 | Out-String
        $e[0].FullyQualifiedErrorId | Should -Be 'DaxFsModuleNotLoaded,DaxFs.Commands.MountDaxFsCommand'
        $v | Should -Match 'passed validation'
        $v | Should -Match $Note
        $w | Should -BeNullOrEmpty
    }
    It 'warns about other findings, such as a split image mounted without its backing file' {
        if ($NoRealKernelCall) { Set-ItResult -Skipped -Because $NoRealKernelCall; return }
        $tree = New-Item -ItemType Directory -Force (Join-Path $TestDrive 'split-tree')
        Set-Content (Join-Path $tree 'f.txt') 'split'
        $img = New-DaxFsImage $tree -Destination (Join-Path $TestDrive 'split.daxfs') -BackingFile (Join-Path $TestDrive 'split.data') -DeltaSize 2MB -Force
        Write-DaxFsImage $img -Device dax0.0 -Confirm:$false
        $e = $null
        Mount-DaxFs -Device dax0.0 -MountPoint $h.MountPoint -Confirm:$false -ErrorVariable e -ErrorAction SilentlyContinue -WarningVariable w 3>$null | Out-Null
        $e[0].FullyQualifiedErrorId | Should -Be 'DaxFsModuleNotLoaded,DaxFs.Commands.MountDaxFsCommand'
        "$w" | Should -Match 'BASE-EXTERNAL'
    }
}

Describe 'Get-DaxFsMount and Dismount-DaxFs' {
    BeforeEach {
        $h = New-FakeHost
        Set-Content $h.MountInfo @(
            "61 27 0:52 / /mnt/dax\040root ro,relatime shared:30 - daxfs dax0.0 ro,phys=0x100a00000,size=526385152,static"
            "62 27 0:53 / /mnt/branch rw,relatime - daxfs daxfs rw,name=pool,source=dmabuf,size=268435456,backing=<path>,branch=/main"
            "63 27 0:54 / /mnt/tmp rw - tmpfs tmpfs rw"
        )
    }

    It 'lists the daxfs mounts with typed options' {
        $m = Get-DaxFsMount
        $m.Count | Should -Be 2
        $m[0] | Should -BeOfType DaxFs.DaxFsMount
        $m[0].MountPoint | Should -Be '/mnt/dax root'
        $m[0].PhysicalAddress | Should -Be 0x100a00000
        $m[0].Size | Should -Be 526385152
        $m[0].Static | Should -BeTrue
        $m[0].ReadOnly | Should -BeTrue
        $m[1].DmaBuf | Should -BeTrue
        $m[1].Branch | Should -Be '/main'
        $m[1].Name | Should -Be 'pool'
        $m[1].HasBackingFile | Should -BeTrue
        $m[1].ReadOnly | Should -BeFalse
    }
    It 'filters by mount point, with wildcards' {
        (Get-DaxFsMount '/mnt/b*').MountPoint | Should -Be '/mnt/branch'
        (Get-DaxFsMount '/mnt/branch/').MountPoint | Should -Be '/mnt/branch'
        { Get-DaxFsMount /mnt/tmp -ErrorAction Stop } | Should -Throw -ErrorId 'DaxFsMountNotFound,DaxFs.Commands.GetDaxFsMountCommand'
    }
    It 'formats as a table' {
        Get-DaxFsMount | Format-Table | Out-String | Should -Match 'dax0.0\s+0x100a00000\s+502 MiB\s+5 static\s+ro\s+/mnt/dax root'
    }
    It 'dismounts nothing under -WhatIf, from the pipeline' {
        Get-DaxFsMount | Dismount-DaxFs -WhatIf -ErrorVariable errs
        $errs | Should -BeNullOrEmpty
    }
    It 'refuses what is not a daxfs mount' {
        $e = { Dismount-DaxFs /mnt/tmp -Confirm:$false -ErrorAction Stop } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -Be 'NotADaxFsMount,DaxFs.Commands.DismountDaxFsCommand'
        $e.TargetObject | Should -Be '/mnt/tmp'
        { Dismount-DaxFs /mnt/none -WhatIf -ErrorAction Stop } | Should -Throw -ErrorId 'NotMounted,DaxFs.Commands.DismountDaxFsCommand'
    }
    It 'needs root' {
        $env:DAXFS_ASSUME_ROOT = '0'
        { Get-DaxFsMount | Dismount-DaxFs -Confirm:$false } | Should -Throw -ErrorId 'NotRoot,DaxFs.Commands.DismountDaxFsCommand'
    }
}

Describe 'Mount-DaxFs and the loaded daxfs module' {
    BeforeAll {
        $script:V8Static = Join-Path $Vectors 'v8/deep.v8.static.daxfs'
        function Set-NodeImage([string] $Image) {
            $bytes = [IO.File]::ReadAllBytes($Image)
            $f = [IO.File]::OpenWrite($h.Node); try { $f.Write($bytes, 0, $bytes.Length) } finally { $f.Dispose() }
        }
        # What the two modules expose in sysfs, as measured in the VM: the format-8 module its version and srcversion,
        # the format-5 module neither.
        function Set-LoadedModule([int] $Format) {
            $dir = Join-Path $h.Root 'sys/module/daxfs'
            New-Item -ItemType Directory -Force $dir | Out-Null
            Set-Content (Join-Path $dir 'initstate') 'live'
            if ($Format -eq 8) { Set-Content (Join-Path $dir 'version') '0.1.0'; Set-Content (Join-Path $dir 'srcversion') 'E4B31E22E0014FF3AA8B6DB' }
        }
    }
    BeforeEach { $h = New-FakeHost }

    It 'refuses a format-5 image while the format-8 module is loaded, before any mount call, saying what to do' {
        Set-LoadedModule 8
        Set-NodeImage $Sound
        $e = { Mount-DaxFs -Device dax0.0 -MountPoint $h.MountPoint -Confirm:$false -ErrorAction Stop } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -Be 'ModuleCannotMountFormat,DaxFs.Commands.MountDaxFsCommand'
        $e.CategoryInfo.Category | Should -Be 'NotInstalled'
        $e.TargetObject | Should -Be 'dax0.0'
        $e.Exception.Message | Should -Match 'DAXFS format 5.*daxfs module 0\.1\.0 \(format 8\)'
        $e.Exception.Message | Should -Match 'load the format-5 module'
        $e.Exception.Message | Should -Match 'New-DaxFsImage -Format 8'
    }
    It 'refuses a format-8 image while the format-5 module is loaded' {
        Set-LoadedModule 5
        Set-NodeImage $V8Static
        $e = { Mount-DaxFs -Device dax0.0 -MountPoint $h.MountPoint -Confirm:$false -ErrorAction Stop } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -Be 'ModuleCannotMountFormat,DaxFs.Commands.MountDaxFsCommand'
        $e.Exception.Message | Should -Match 'daxfs module without a version \(format 5\)'
        $e.Exception.Message | Should -Match 'New-DaxFsImage -Format 5'
    }
    It 'warns that -Validate refuses every image only with the format-5 module; with the format-8 one it names the empty hard-link slots validate refuses' {
        Set-LoadedModule 5
        $w = @(Mount-DaxFs -Device dax0.0 -MountPoint $h.MountPoint -Validate -WhatIf 3>&1 | Where-Object { $_ -is [Management.Automation.WarningRecord] })
        "$w" | Should -Match 'refuses every DAXFS image'
        Set-LoadedModule 8
        $w = @(Mount-DaxFs -Device dax0.0 -MountPoint $h.MountPoint -Validate -WhatIf 3>&1 | Where-Object { $_ -is [Management.Automation.WarningRecord] })
        $w | Should -BeNullOrEmpty
        if ($NoRealKernelCall) { Set-ItResult -Skipped -Because $NoRealKernelCall; return }
        # mkdaxfs's basic tree leaves an all-zero inode slot for its hard link: the gate lets it through (the kernel never
        # reads it), and the warning says that the validate option asked for refuses it. (The mount call then fails: no daxfs here.)
        Set-NodeImage (Join-Path $Vectors 'v8/basic.v8.static.daxfs')
        Mount-DaxFs -Device dax0.0 -MountPoint $h.MountPoint -Validate -Confirm:$false -ErrorAction SilentlyContinue -WarningVariable w 3>$null
        "$w" | Should -Match 'INODE-EMPTY.*the validate option you asked for refuses this'
        "$w" | Should -Not -Match 'refuses every DAXFS image'
    }
    It 'passes -MemoryModel as mem_model=, and refuses it on a format-5 image' {
        Mount-DaxFs -Device dax0.0 -MountPoint $h.MountPoint -MemoryModel cxl3 -WhatIf -Verbose 4>&1 | Out-String |
            Should -Match ([regex]::Escape("mount -t daxfs -o phys=0x100a00000,size=0x1f600000,mem_model=cxl3 dax0.0 $($h.MountPoint)"))
        $b = New-DmaBuf -Size 1MB
        try {
            $b | Mount-DaxFs -MountPoint $h.MountPoint -MemoryModel Coherent -WhatIf -Verbose 4>&1 | Out-String |
                Should -Match 'fsconfig\(FSCONFIG_SET_STRING "mem_model"="coherent"\)'
        }
        finally { $b.Dispose() }
        Set-NodeImage $Sound
        $e = { Mount-DaxFs -Device dax0.0 -MountPoint $h.MountPoint -MemoryModel Cxl3 -Confirm:$false -ErrorAction Stop } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -Be 'MountOptionNeedsFormat8,DaxFs.Commands.MountDaxFsCommand'
        $e.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $e.Exception.Message | Should -Match 'mem_model=cxl3'
    }
    It 'passes -ExportPath as export= (with name=) for a split format-8 image, and refuses it where the module would' {
        $tree = New-Item -ItemType Directory (Join-Path $h.Root 'tree')
        Mount-DaxFs -Device dax0.0 -MountPoint $h.MountPoint -ExportPath $tree -Name shared -WhatIf -Verbose 4>&1 | Out-String |
            Should -Match ([regex]::Escape("mount -t daxfs -o phys=0x100a00000,size=0x1f600000,export=$tree,name=shared dax0.0 $($h.MountPoint)"))
        $b = New-DmaBuf -Size 1MB
        try {
            $b | Mount-DaxFs -MountPoint $h.MountPoint -ExportPath $tree -WhatIf -Verbose 4>&1 | Out-String |
                Should -Match ([regex]::Escape("fsconfig(FSCONFIG_SET_STRING `"export`"=`"$tree`")"))
        }
        finally { $b.Dispose() }
        $m = 'DaxFs.Commands.MountDaxFsCommand'
        $null = Assert-Refused { Mount-DaxFs -Device dax0.0 -MountPoint $h.MountPoint -ExportPath $tree -BackingFile $Sound -WhatIf -ErrorAction Stop } "ExportWithBackingFile,$m" InvalidArgument
        $null = Assert-Refused { Mount-DaxFs -Device dax0.0 -MountPoint $h.MountPoint -ExportPath (Join-Path $h.Root 'nope') -WhatIf -ErrorAction Stop } "ExportDirectoryNotFound,$m" ObjectNotFound
        # A static format-8 image has no page cache; a format-5 image goes to a module without the option: refused before any mount call.
        Set-LoadedModule 8
        Set-NodeImage $V8Static
        $e = Assert-Refused { Mount-DaxFs -Device dax0.0 -MountPoint $h.MountPoint -ExportPath $tree -Confirm:$false -ErrorAction Stop } "ExportNeedsSplitImage,$m"
        $e.Exception.Message | Should -Match "requires a pcache region"
        $e.Exception.Message | Should -Match 'split format-8 image of the directory'
        Set-LoadedModule 5
        Set-NodeImage $Sound
        $e = Assert-Refused { Mount-DaxFs -Device dax0.0 -MountPoint $h.MountPoint -ExportPath $tree -Confirm:$false -ErrorAction Stop } "MountOptionNeedsFormat8,$m"
        $e.Exception.Message | Should -Match 'export='
    }
    It 'Get-DaxFsMount shows each mount''s format and overlay, and the loaded module' {
        Set-LoadedModule 8
        Set-Content $h.MountInfo @(
            "39 35 0:33 / /mnt/v8static rw,relatime - daxfs none ro,name=foo,phys=0x100000000,size=77824"
            "40 35 0:34 / /mnt/v8split rw,relatime - daxfs none rw,phys=0x100200000,size=1175552,overlay"
        )
        $m = Get-DaxFsMount
        $m.Format | Should -Be @(8, 8)
        $m.Overlay | Should -Be @($false, $true)
        $m.ReadOnly | Should -Be @($true, $false)
        $m[0].Module | Should -Be 'daxfs module 0.1.0 (format 8)'
        $m[0].ModuleVersion | Should -Be '0.1.0'
        $table = $m | Format-Table | Out-String
        $table | Should -Match '8 static\s+ro\s+/mnt/v8static'
        $table | Should -Match '8 overlay\s+rw\s+/mnt/v8split'
        $m[1] | Format-List | Out-String | Should -Match 'Module\s+: daxfs module 0\.1\.0 \(format 8\)'
    }
    It 'reads a format-8 image in memory: through its mount (Get-DaxFsItem), and copied out (Save-DaxFsImage)' {
        $image = Join-Path $Vectors 'v8/overlay/overlay-only-after-writes.daxfs'
        if (-not (Test-Path $image)) { $image = Join-Path $PSScriptRoot 'fixtures/overlay/overlay-only-after-writes.daxfs' }
        Set-NodeImage $image
        $length = (Get-Item $image).Length
        Set-Content $h.MountInfo "39 35 0:33 / $($h.MountPoint) rw,relatime - daxfs dax0.0 rw,phys=0x100a00000,size=$length,overlay"
        $fromMount = @(Get-DaxFsItem (Get-DaxFsMount $h.MountPoint) -Recurse | ForEach-Object { "$($_.FullName) $($_.Size)" })
        $fromFile = @(Get-DaxFsItem $image -Recurse | ForEach-Object { "$($_.FullName) $($_.Size)" })
        $fromMount | Should -Be $fromFile
        $fromMount.Count | Should -BeGreaterThan 5
        $copy = Join-Path $h.Root 'copy.daxfs'
        Save-DaxFsImage -Device dax0.0 -Destination $copy -Confirm:$false
        (Get-FileHash $copy).Hash | Should -Be (Get-FileHash $image).Hash
    }
}
